//! Security probes against what levity fetches and reads for a request:
//! image addresses and files, proxies, upstream hints and answer sizes.
