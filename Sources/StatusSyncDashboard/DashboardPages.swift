import Hummingbird
import Mustache

/// The page templates and the stylesheet, embedded in the binary at build time. Mustache's
/// `{{value}}` escapes `<`, `>`, `&`, `"` and `'`, so every value is safe in text and in quoted
/// attributes; the templates never use the unescaped `{{{value}}}`.
struct DashboardPages: Sendable {
    let library: MustacheLibrary
    let stylesheet: String

    init() throws {
        var library = MustacheLibrary()
        let templates: [(String, [UInt8])] = [
            ("layout", PackageResources.layout_mustache), ("overview", PackageResources.overview_mustache),
            ("updates", PackageResources.updates_mustache), ("update", PackageResources.update_mustache),
            ("calls", PackageResources.calls_mustache), ("backlog", PackageResources.backlog_mustache),
        ]
        for (name, bytes) in templates {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        self.library = library
        self.stylesheet = String(decoding: PackageResources.style_css, as: UTF8.self)
    }

    func render(_ page: String, _ model: Any) -> Response {
        let html = library.render(model, withTemplate: page) ?? "template \(page) is missing"
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    var stylesheetResponse: Response {
        Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: stylesheet)))
    }
}
