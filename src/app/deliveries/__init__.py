"""Results out: each contact's result, once final, POSTed signed to its campaign's webhook.

A contact reaching a final state gets a row in the `result_deliveries` outbox in the same
transaction, written by database triggers (see the migration 0006): whatever statement puts it
there, now or later, cannot forget to. The leader's deliverer then claims due rows under a lease,
builds each body from the data as it is at that moment (so an erased person's data is never
sent), signs it and POSTs it, at least once, retrying with backoff until the receiver answers 2xx.
"""
