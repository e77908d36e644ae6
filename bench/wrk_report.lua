-- wrk reporter: one JSON line with what bench/harness.py reads; non-2xx answers count as errors.
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
               + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests": %d, "errors": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
