//! Render a blob as terminal cells or an image; scan luma frames for a blob. Pure.
