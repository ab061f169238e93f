//! Reading `bgpdump -m` text back into entries. (filled in below)
