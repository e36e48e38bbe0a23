"""The optional torch dependency: ``torch`` is the module when installed, else ``None``.

With torch, items are tensors and the dataset is a ``torch.utils.data.Dataset``, like the
reference loader's; without it, items are numpy arrays (nothing else changes).
"""

try:  # pragma: no cover - depends on the environment
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["torch"]
