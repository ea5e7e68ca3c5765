"""VoiceSurveyAgent: outbound automated phone surveys."""
