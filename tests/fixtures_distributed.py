"""Is distributed mode possible here? `python -m tests.fixtures_distributed DATABASE_URL REDIS_URL`

Exits 0 when both PostgreSQL and Redis answer; otherwise prints "distributed mode skipped: <why>" and exits 1.
The Makefile's `test` target runs the integration tests a second time, on PostgreSQL + Redis, only when this says yes.
"""

import sys
from urllib.parse import urlsplit


def postgres_problem(url: str) -> str | None:
    import psycopg

    parts = urlsplit(url)
    try:
        with psycopg.connect(host=parts.hostname or "localhost", port=parts.port or 5432, user=parts.username or None,
                             password=parts.password or None, dbname="postgres", connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:
        why = " ".join(str(exc).split())[:200]
        return f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not reachable ({type(exc).__name__}: {why})"
    return None


def redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {urlsplit(url).netloc} is not reachable ({type(exc).__name__}: {exc})"
    return None


def main(argv):
    database_url, redis_url = argv[1], argv[2]
    problems = [p for p in (postgres_problem(database_url), redis_problem(redis_url)) if p]
    if problems:
        print("distributed mode skipped: " + "; ".join(problems), flush=True)
        return 1
    print(f"distributed mode: {urlsplit(database_url).netloc} + {redis_url}, two qcluster processes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
