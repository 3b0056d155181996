from ipc import OrderBookWriter, OrderIndex


def test_index_matches_payment_ids_across_users_incrementally(tmp_path):
    clock = iter(range(100)).__next__
    alice = OrderBookWriter(tmp_path, "user-0", clock)
    bob = OrderBookWriter(tmp_path, "user-1", clock)
    index = OrderIndex(tmp_path)
    assert index.refresh() == 0 and index.get("aa" * 8) is None

    alice.append("order_placed", payment_id="aa" * 8, shop="shop-0", amount=5)
    bob.append("order_placed", payment_id="bb" * 8, shop="shop-1", amount=7)
    assert index.refresh() == 2
    assert index.get("aa" * 8)["agent"] == "user-0"
    assert (index.get("bb" * 8)["shop"], index.get("bb" * 8)["amount"]) == ("shop-1", 7)

    bob.append("order_cancelled", payment_id="bb" * 8, code=-37)
    alice.append("order_placed", payment_id="cc" * 8, shop="shop-1", amount=1)
    assert index.refresh() == 2
    assert index.get("bb" * 8)["cancelled"] is True
    assert index.get("cc" * 8)["agent"] == "user-0"
    assert "cancelled" not in index.get("aa" * 8)
    assert index.refresh() == 0


def test_paid_orders_are_marked(tmp_path):
    book = OrderBookWriter(tmp_path, "user-0", lambda: 1.0)
    book.append("order_placed", payment_id="dd" * 8, shop="shop-0", amount=3)
    book.append("order_paid", payment_id="dd" * 8, txid="ab" * 32)
    index = OrderIndex(tmp_path)
    index.refresh()
    assert index.get("dd" * 8)["paid"] is True and "cancelled" not in index.get("dd" * 8)


def test_a_signed_order_keeps_its_txid_and_its_metadata_while_open(tmp_path):
    book = OrderBookWriter(tmp_path, "user-0", lambda: 1.0)
    book.append("order_placed", payment_id="ee" * 8, shop="shop-0", amount=3)
    book.append("order_signed", payment_id="ee" * 8, txid="ab" * 32, fee=9, metadata="0f" * 8)
    book.append("order_signed", payment_id="ff" * 8, txid="cd" * 32, fee=9, metadata="00")
    index = OrderIndex(tmp_path)
    index.refresh()
    order = index.get("ee" * 8)
    assert (order["event"], order["shop"], order["amount"]) == ("order_placed", "shop-0", 3)
    assert (order["txid"], order["fee"], order["metadata"]) == ("ab" * 32, 9, "0f" * 8)
    assert "paid" not in order and index.get("ff" * 8) is None   # signed, never placed: none

    book.append("order_paid", payment_id="ee" * 8, txid="ab" * 32)
    index.refresh()
    order = index.get("ee" * 8)
    assert order["paid"] is True and order["txid"] == "ab" * 32 and "metadata" not in order
