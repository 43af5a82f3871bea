"""Environment builders: each turns one environment's validated config into components."""
