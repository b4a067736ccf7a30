"""Reporters read a RunResult and write one view of it: the console table, JUnit XML, the
Markdown summary, the HTML report, the load report, OpenSLO. The pipeline runs each in
isolation (cujeval.pipeline.write_reports): one that fails is reported and the others (and the
results on disk) are unaffected."""
