//! What travels on the data channel and how it is shown: limits, sanitising. Pure.
