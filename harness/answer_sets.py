"""The named answer sets every generation test runs against.

Together they cover every value of every question at least once, and the pairs that
interact: each deploy_target x railway_config x include_frontend, integrations
none / one / all, and extra secrets.
"""

from typing import Any

ALL_INTEGRATIONS = ["anthropic", "google_oauth", "microsoft_oauth"]

ANSWER_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "railway-iac": {"deploy_target": "railway", "railway_config": "iac"},
    "railway-json": {"deploy_target": "railway", "railway_config": "json"},
    "railway-iac-nofrontend": {
        "deploy_target": "railway",
        "railway_config": "iac",
        "include_frontend": False,
    },
    "railway-json-nofrontend": {
        "deploy_target": "railway",
        "railway_config": "json",
        "include_frontend": False,
        "python_version": "3.11",
    },
    "render": {"deploy_target": "render", "python_version": "3.13"},
    "render-nofrontend": {"deploy_target": "render", "include_frontend": False},
    "both-json": {"deploy_target": "both", "railway_config": "json", "workers": 1, "timeout": 30},
    "both-nofrontend": {"deploy_target": "both", "include_frontend": False, "workers": 32},
    "both-json-nofrontend": {
        "deploy_target": "both",
        "railway_config": "json",
        "include_frontend": False,
        "timeout": 900,
    },
    "none": {"deploy_target": "none", "integrations": []},
    "none-nofrontend": {"deploy_target": "none", "include_frontend": False},
    "no-integrations": {"integrations": []},
    "ai-only": {"integrations": ["anthropic"]},
    "google-only": {"integrations": ["google_oauth"]},
    "microsoft-only": {"integrations": ["microsoft_oauth"], "deploy_target": "railway"},
    "extra-secrets": {
        "project_name": "Acme Support Desk",
        "description": "Answers support tickets.",
        "github_repository": "acme/support-desk",
        "extra_secrets": ["STRIPE_API_KEY", "SENTRY_DSN"],
        "backend_url": "https://api.acme.dev",
        "cors_origins": "https://app.acme.dev,https://admin.acme.dev",
        "workers": 2,
        "timeout": 60,
    },
}
