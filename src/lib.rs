//! pastis-bridge: the PASTIS / PASTIS-R crop-mapping dataset between formats.
//!
//! One in-memory model ([`model::Patch`], [`model::DatasetMeta`]) and, per format, a reader and a
//! writer around it ([`formats`]). A conversion is [`convert::convert`]: read a patch, write it,
//! in parallel over patches, never holding the whole dataset in memory.
//!
//! ```no_run
//! use pastis_bridge::{convert, formats::Format};
//! let options = convert::ConvertOptions::new(Format::Zarr);
//! let summary = convert::convert("PASTIS".as_ref(), "pastis.zarr".as_ref(), &options, &|_| {})?;
//! println!("{} patches", summary.patches);
//! # Ok::<(), pastis_bridge::Error>(())
//! ```

pub mod convert;
pub mod error;
pub mod formats;
pub mod georef;
pub mod inspect;
pub mod journal;
pub mod model;
pub mod npy;
pub mod output;
pub mod parcels;
pub mod pipeline;
pub mod preview;
pub mod synth;
pub mod verify;
pub mod warnings;

pub use error::{Error, Result};
