// Imported first by the benchmark: Powertools reads these when its modules load, before any bench code runs.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
