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
}
