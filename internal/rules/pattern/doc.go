// Package pattern compiles and evaluates Amazon EventBridge event patterns.
//
// Compile validates a pattern the way EventBridge's PutRule does and reports
// the first problem with a JSON path into the pattern, for example
// `detail.eventName[1]: unknown operator "prefixx"`. Match evaluates a
// compiled pattern against one event with the semantics of aws/event-ruler,
// the matcher EventBridge runs:
//
//   - Every field named in the pattern must be present in the event with the
//     same nesting; a leaf is an array of alternatives and matches when any
//     alternative does; when the event value is an array, any of its
//     elements may match (arrays are crushed, nested arrays too).
//   - Fields inside objects that are elements of one event array match only
//     within the same element ("array-consistent" matching, as
//     rulesForJSONEvent does).
//   - Strings compare character by character; numbers in exact matches
//     compare by their JSON text (300 and 300.0 differ), numbers under
//     "numeric" and "anything-but" compare by value; null and "" differ.
//   - {"exists": true} holds when the field has at least one leaf value
//     (a string, number, boolean or null, possibly inside arrays). An
//     object-valued field is not a leaf, so {"exists": false} matches it,
//     exactly as event-ruler's README describes; so does an empty array.
//   - anything-but needs a leaf value to be present: a missing field never
//     matches it. Its prefix, suffix, equals-ignore-case and wildcard forms
//     only exclude strings; numbers, booleans and null pass them.
//   - "$or" (an array of at least two objects) is allowed at any object
//     level; "$or" whose value is an object is an ordinary field name, as
//     event-ruler keeps it for backward compatibility.
//
// Numbers are not limited to EventBridge's documented -5e9..5e9 range: the
// matcher compares IEEE-754 doubles, as event-ruler 2.x does.
package pattern
