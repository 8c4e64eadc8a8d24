// Package transform is EventBridge's InputTransformer: it extracts values
// from an event with an InputPathsMap and renders them into an
// InputTemplate, producing the message a rule sends to its target.
//
// Compile validates the transformer like EventBridge's PutTargets: at most
// 100 paths; names match [A-Za-z0-9_-]+ and do not start with "AWS."; paths
// are JSON dot notation from "$" with array indices ($.detail.items[0].id),
// and dashes and slashes are legal in segment names ($.detail-type); the
// template is at most 8192 characters, uses only defined or predefined
// placeholders, never as an object key; a JSON template (one starting with
// '{' or '[') must be valid JSON whatever the values are.
//
// Rendering follows EventBridge:
//
//   - Inside quotes a value is inserted as is: a string without quotes,
//     numbers, booleans, objects and arrays as their JSON text.
//   - Outside quotes a string is inserted JSON-quoted, everything else as
//     its JSON text.
//   - <aws.events.rule-name>, <aws.events.rule-arn> and
//     <aws.events.event.ingestion-time> are strings from Meta;
//     <aws.events.event> (the event without "detail") and
//     <aws.events.event.json> (the whole event) may only be field values.
//   - The output of a JSON template is minified; text templates are
//     returned as rendered.
//
// Where AWS leaves the behaviour open this package decides, and
// docs/rules.md records why:
//
//   - A path that matches nothing, or matches JSON null, renders as the
//     empty string inside quotes. This is what Port's published rules rely
//     on: they test `"<responseFunctionName>" != ""` for delete calls, whose
//     responseElements is null.
//   - Outside quotes such a value renders as null, so that the message
//     stays JSON (an empty insertion would make `"a": ,` and lose the whole
//     message). Rendered.Missing names every such placeholder.
//   - A string inserted inside quotes is NOT escaped, because EventBridge
//     does not escape it: a value holding '"' or '\' then breaks the JSON,
//     or worse, changes its meaning. The point of this package is to show
//     what would reach the queue, so it does not repair the message: it
//     fails with an OutputError naming the rule, the position and the
//     placeholder whose value was inserted raw, and when the result is still
//     valid JSON it lists the placeholder in Rendered.Unescaped so that
//     callers can warn.
package transform
