import Foundation
import Testing
@testable import StatusSyncCore

@Suite("JSON parser (request bodies)")
struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    @Test("Parses what Foundation parses, to the same values")
    func agreesWithFoundation() throws {
        let documents = [
            #"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-0.5e3,"g":""}"#,
            #"  [ 1 , 2.25 , -3 , 1E2 , 0 ]  "#,
            #""\u0026 \u003c \u003e \"q\" \\ \/ \b\f\n\r\t é 👍 \ud83d\ude00""#,
            #"{"nested":{"deep":[[[[{"x":[]}]]]]}}"#,
        ]
        for doc in documents {
            let ours = try parse(doc)
            let theirs = try JSONSerialization.jsonObject(with: Data(doc.utf8), options: [.fragmentsAllowed])
            let roundTrip = try JSONSerialization.data(withJSONObject: theirs, options: [.sortedKeys, .fragmentsAllowed])
            #expect(ours == (try JSONDecoder().decode(JSONValue.self, from: roundTrip)), "\(doc)")
        }
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#"{"k":"x\u0000y"}"#)["k"] == .string("x\u{0}y"))
    }

    @Test("Every fixture parses and keeps HTML escapes decoded")
    func fixtures() throws {
        for name in ["01-exit-hook-status.request.json", "02-hook-expression-true-started.request.json", "03-batch-params-retry.request.json",
                     "04-unhandled-plugin-slack.request.json", "05-wire-compact-html-escaped.request.json", "index.json", "agent-http-behaviour.json"] {
            _ = try JSONValue.parse(try TestPaths.argoFixture(name))
        }
        let wire = try JSONValue.parse(try TestPaths.argoFixture("05-wire-compact-html-escaped.request.json"))
        #expect(wire["template"]?["plugin"]?["statusReporter"]?["summary"] == .string("build & deploy to <prod> failed"))
    }

    @Test("Rejects malformed input with a position")
    func rejects() {
        let bad = ["", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.", ".5", "-", "1e", "tru", "nul",
                   "\"unterminated", "\"bad \\x escape\"", "\"\\ud800\"", "\"\\udc00\"", "\"tab\there\"", "{} {}", "[\"\\u12\"]", "NaN", "1e999"]
        for text in bad {
            #expect(throws: JSONValueError.self, "\(text)") { try parse(text) }
        }
        #expect(throws: JSONValueError.self) { try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONValueError.self) { try parse(deep) }
    }

    @Test("Duplicate keys keep the first value; numbers keep integer form in canonical text")
    func details() throws {
        #expect(try parse(#"{"a":1,"a":2}"#)["a"] == .number(1))
        #expect(try parse(#"{"n":42,"m":1.5}"#).canonicalText == #"{"m":1.5,"n":42}"#)
    }

    @Test("A shaped parse keeps the named parts whole and the rest of the document out, and fails exactly where the full parse fails")
    func shaped() throws {
        let shape = JSONShape.fields(["a": .fields(["b": .all]), "keep": .all])
        let doc = #"{"a":{"b":{"x":[1,"\u00e9"]},"c":[1,2,{"d":"skip\n"}]},"keep":"é","z":[true,null,-1.5e3,"👍"],"a":"second"}"#
        let shaped = try JSONValue.parse(Data(doc.utf8), shape: shape)
        let full = try parse(doc)
        #expect(shaped == .object(["a": .object(["b": full["a"]!["b"]!]), "keep": .string("é")]))
        // A kept key whose value is not an object is kept whole, as the full parse has it.
        #expect(try JSONValue.parse(Data(#"{"a":[1],"keep":{"k":1}}"#.utf8), shape: shape) == parse(#"{"a":[1],"keep":{"k":1}}"#))

        // Every malformed document fails with the same message whether its fault is in a kept part
        // or in a skipped one.
        let faults = ["", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.", "-", "1e", "tru", "nul", "\"unterminated",
                      "\"bad \\x escape\"", "\"\\ud800\"", "\"\\udc00\"", "\"tab\there\"", "[\"\\u12\"]", "NaN", "1e999",
                      "{\"k\":1,}", "[", "{\"k\"", String(repeating: "[", count: 300) + String(repeating: "]", count: 300)]
        for fault in faults {
            let places = [(#"{"z":"#, "}"), (#"{"keep":"#, "}"), (#"{"a":{"c":"#, "}}"), (#"{"a":{"b":"#, "}}")]
            for doc in places.map({ $0.0 + fault + $0.1 }) + (fault.isEmpty ? [] : [#"{"z":1} "# + fault]) {
                let fullError = try? #require(throws: JSONValueError.self) { try parse(doc) }
                let shapedError = try? #require(throws: JSONValueError.self, "\(doc)") { try JSONValue.parse(Data(doc.utf8), shape: shape) }
                #expect(shapedError?.reason == fullError?.reason, "\(doc)")
            }
        }
        for bytes in [[0x22, 0xFF, 0xFE, 0x22], [0x22, 0xC3, 0x22]] as [[UInt8]] {
            let doc = Data(#"{"z":"#.utf8) + Data(bytes) + Data("}".utf8)
            let fullError = try? #require(throws: JSONValueError.self) { try JSONValue.parse(doc) }
            let shapedError = try? #require(throws: JSONValueError.self) { try JSONValue.parse(doc, shape: shape) }
            #expect(shapedError?.reason == fullError?.reason)
        }
    }

    @Test("ExecuteTemplateArgs builds only workflow metadata, the template name and the plugin; every fixture reads the same as with a full parse")
    func argsShape() throws {
        for name in ["01-exit-hook-status.request.json", "02-hook-expression-true-started.request.json", "03-batch-params-retry.request.json",
                     "04-unhandled-plugin-slack.request.json", "05-wire-compact-html-escaped.request.json"] {
            let data = try TestPaths.argoFixture(name)
            let args = try ExecuteTemplateArgs.parse(data)
            let full = try JSONValue.parse(data)
            #expect(args.workflow.name == full["workflow"]?["metadata"]?["name"]?.stringValue ?? "", "\(name)")
            #expect(args.workflow.namespace == full["workflow"]?["metadata"]?["namespace"]?.stringValue ?? "", "\(name)")
            #expect(args.workflow.uid == full["workflow"]?["metadata"]?["uid"]?.stringValue ?? "", "\(name)")
            #expect(args.templateName == full["template"]?["name"]?.stringValue ?? "", "\(name)")
            #expect(args.plugin == full["template"]?["plugin"]?.objectValue ?? [:], "\(name)")
            let shaped = try JSONValue.parse(data, shape: ExecuteTemplateArgs.shape)
            #expect(shaped["template"]?.objectValue?.keys.sorted() == ["name", "plugin"].filter { full["template"]?[$0] != nil }, "\(name)")
        }
    }
}
