"""CSV downloads streamed from the database: the one helper every list's *Export CSV* uses.

``csv_download`` answers with a ``StreamingHttpResponse`` whose body a generator writes while the
rows come from ``queryset.iterator(chunk_size=...)``, so an export of 100,000 rows holds one chunk
of rows and one batch of CSV text in memory at a time, never the whole list
(``bench/csv_bench.py`` measures it). Plain Django, below every app: it knows no model.
"""

from exports.csv import CHUNK_SIZE, csv_download, csv_filename, queryset_rows

__all__ = ["CHUNK_SIZE", "csv_download", "csv_filename", "queryset_rows"]
