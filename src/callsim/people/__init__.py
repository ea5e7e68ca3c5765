"""Simulated respondents for the mock provider (`MOCK_SIMULATION=on`).

The mock still calls nobody. For each call it places, a made-up person answers the service's own
voice and status webhooks at `PUBLIC_BASE_URL`, over real HTTP, in the mock's JSON dialect: so a
demo runs the service's webhooks, dialogue and persistence end to end.

- `mix.py`: the behaviours and their weights (`MOCK_SIMULATION_MIX`), a seeded pick;
- `respondent.py`: what a simulated person says at each prompt, from what the prompt offers;
- `player.py`: plays the calls and reports on them.

Nothing is imported here, so that the mock loads this only when it simulates.
"""
