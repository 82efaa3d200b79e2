# oialr: paper-specific jobs that are not training runs of the generic loop (filled in by the oialr pipeline).
