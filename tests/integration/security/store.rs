//! Security probes against the data file, its key and its secrets: other
//! local users, damaged or full disks, plaintext at rest.
