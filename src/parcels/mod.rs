//! Parcel polygons: INSTANCES vectorised along pixel edges, and rasterised back exactly.

pub mod geometry;
pub mod trace;
