// The API documentation page: Swagger UI over the app's OpenAPI description (a file, as the CSP allows no inline
// script). "Try it out" requests go to this site with the browser's session; unsafe methods need the CSRF token.
(function () {
  var root = document.getElementById("swagger-ui");
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // no request to swagger.io's validator: the page talks to this site only
    requestInterceptor: function (request) {
      if (request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRFToken"] = csrf;
      }
      return request;
    }
  });
})();
