"""Speed micro-benchmarks: one mode against another in one process, on the tiny test model or a real one."""
