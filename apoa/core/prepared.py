"""Server-side prepared statements, PREPAREd once per pooled connection.

A prepared statement lives as long as its connection, whatever happens to transactions, so the
pool's connection record remembers which ones it holds. Used by the hot paths that send one
statement per request: the region lookup and the report submission.
"""


def prepare_once(pooled, name, prepare_sql):
    """PREPARE `prepare_sql` (a "PREPARE name(...) AS ..." text) on the pooled connection unless
    it already holds `name`; returns the pooled connection."""
    held = pooled.info.setdefault("apoa_prepared", set())
    if name not in held:
        with pooled.driver_connection.cursor() as cursor:
            cursor.execute(prepare_sql)
        held.add(name)
    return pooled
