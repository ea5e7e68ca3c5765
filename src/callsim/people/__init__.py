"""Simulated respondents for the mock provider (`MOCK_SIMULATION=on`).

The mock still calls nobody. For each call it places, the Twilio emulator plays a made-up person
against the service's own voice and status webhooks at `PUBLIC_BASE_URL`, over real HTTP, exactly
as Twilio would: so a demo runs the production path end to end.

- `mix.py`: the behaviours and their weights (`MOCK_SIMULATION_MIX`), a seeded pick;
- `respondent.py`: what a simulated person says at each prompt, from what the prompt offers;
- `player.py`: places the calls in an in-process emulator and reports on them.

Nothing is imported here, so that reading the settings does not load the emulator.
"""
