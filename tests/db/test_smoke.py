from sqlalchemy import Engine, func, select

from seqctl.db import tables


def test_demo_loads_and_is_idempotent(engine: Engine, demo_org: str) -> None:
    from seqctl.db.demo import load_demo

    with engine.begin() as conn:
        load_demo(conn)
        count = conn.execute(select(func.count()).select_from(tables.restaurants)).scalar_one()
    assert count == 5
