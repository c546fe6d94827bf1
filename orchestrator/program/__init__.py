"""The stack's Pulumi program, run offline under the mock runtime: its resource graph, the cache
of offline work, and the security baseline read from the graph's inputs."""
