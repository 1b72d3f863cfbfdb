"""Copyable examples of calling the API, shown on the dashboard."""

TOKEN_PLACEHOLDER = "YOUR_API_TOKEN"
# The documented call the examples make, with the client libraries' /v1.0/ prefix.
LIST_SMTP_PATH = "/v1.0/settings/listSmtp"


def curl_snippet(url: str, owner_id: str, token: str = TOKEN_PLACEHOLDER) -> str:
    return f'curl -X POST {url} \\\n  -H "X-Key: {owner_id}" \\\n  -H "X-Access-Token: {token}"'


def python_snippet(url: str, owner_id: str, token: str = TOKEN_PLACEHOLDER) -> str:
    return f"""import requests

response = requests.post(
    "{url}",
    headers={{"X-Key": "{owner_id}", "X-Access-Token": "{token}"}},
    timeout=30,
)
response.raise_for_status()
for smtp_user in response.json()["smtp_list"]:
    print(smtp_user["smtp_user_name"], smtp_user["status"])"""
