/* What the API said, in words: shared by the scripts of the new task page. */

// The message of an API error response ({"detail"} or {"field": [messages]}), or its status when it has none.
export async function errorText(response) {
  try {
    const body = await response.json();
    if (body.detail) return body.detail;
    return Object.entries(body).map(([field, messages]) => [].concat(messages).join(" ")).join(" ");
  } catch (e) {
    return "The server answered " + response.status + ".";
  }
}
