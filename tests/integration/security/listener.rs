//! Security probes against the listener and the routes: model names in
//! upstream URLs, slow and cancelling clients, cross-site pages, the admin
//! token.
