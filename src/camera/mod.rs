//! Where frames come from: webcam (nokhwa), image files, directories of frames.
