"""Train on PASTIS straight from a pastis-bridge Zarr store (local path or ``s3://`` URL).

``PASTISZarrDataset`` returns the items of the PASTIS benchmark's reference ``PASTIS_Dataset``
(same keyword arguments, defaults and item structure) and ``pad_collate`` pads a batch like the
reference collate; see docs/python.md of the pastis-bridge repository.
"""

from .collate import pad_collate
from .dataset import SATELLITES, PASTISZarrDataset
from .store import StoreError

__version__ = "0.1.0"

__all__ = ["PASTISZarrDataset", "pad_collate", "StoreError", "SATELLITES", "__version__"]
