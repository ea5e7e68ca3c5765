"""A local Twilio for tests and demos: the call REST API, signed webhooks, scripted respondents.

Point the product at it with `TWILIO_API_BASE_URL=http://127.0.0.1:8890` and the same
`TWILIO_AUTH_TOKEN`; the `twilio` library then makes its real HTTP requests here. After a create
the emulator plays the call: signed status callbacks, the TwiML at `Url`, Gathers answered by the
respondent registered for the number. Calls *to* the number come from `POST /_emulator/inbound`
(the number's Voice URL is the option `inbound_url`). See `control.py` for the `/_emulator` API.
"""

from callsim.answers import Answer
from callsim.twilio.app import create_app
from callsim.twilio.respondent import Respondent
from callsim.twilio.state import Emulator, EmulatorOptions

__all__ = ["Answer", "Emulator", "EmulatorOptions", "Respondent", "create_app"]
