//! The one in-memory model every format reads into and writes from.

mod array;
pub mod cast;
pub mod classes;
mod dtype;
mod layer;
mod metadata;
pub mod metadata_geojson;
mod patch;
mod spot;
mod stacking;

pub use array::{Array, ArrayError, Element};
pub use dtype::DType;
pub use layer::{Layer, Series};
pub use metadata::{DatasetMeta, Date, PatchMeta, LAMBERT93_URN};
pub use patch::{ArraySpec, DatasetLayout, LayerLayout, Patch};
pub use spot::SpotGeoref;
pub mod python_json;
mod validate;
pub use validate::{check_rank, check_specs, validate_patch};
