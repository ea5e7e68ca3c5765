"""Simulated telephone calls, for the tests and the demo: never part of the product.

- `callsim.twilio`: a local Twilio (the call REST API the `twilio` library uses, signed webhooks,
  TwiML played against scripted respondents), as a library or `python -m callsim.twilio`;
- `callsim.people`: simulated respondents for the mock provider (`MOCK_SIMULATION=on`).

The product never imports this package, except the mock provider, lazily, when it is asked to
simulate respondents.
"""
