"""Preflight: can a stack fail over into its region now? One finding per question asked of Azure."""
