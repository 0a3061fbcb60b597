"""Data the loop never reads: the 2013 New York flights seed (`flights`), synthetic windows
with known shifts (`synthetic`) and the small synthetic model the tests and benchmarks
share (`fixtures`)."""
