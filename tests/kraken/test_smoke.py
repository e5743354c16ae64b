from __future__ import annotations

from krakenops.trader.orders import OrderIntent, OrderStatus, OrderType, Side
from tests.kraken.conftest import ClientFactory


def test_market_buy_fills_through_real_ccxt(connect: ClientFactory, fake):
    client = connect()
    client.start()
    result = client.submit(OrderIntent("o-1", "BTC", Side.BUY, 0.01, OrderType.MARKET, 9000.0))
    assert result.status is OrderStatus.FILLED, result
    assert result.filled_quantity == 0.01
    print(result, fake.calls)
