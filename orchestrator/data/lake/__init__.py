"""The lake's data path: listings, snapshots, backup generations, server-side copy and the relay."""
