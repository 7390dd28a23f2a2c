#include "liprobe/x1/routes.hpp"

#include "liprobe/control/https_server.hpp"
#include "liprobe/x1/service.hpp"

namespace liprobe::x1 {

void register_routes(Service& service, control::ControlServer& server) {
    server.route("POST", "/X1/NE", control::kRoleX1, [&service](const control::HttpRequest& req) {
        const Reply reply = service.handle(req.body, req.client_subject);
        control::HttpResponse out;
        out.status = reply.http_status;
        out.content_type = "application/xml";
        out.body = reply.xml;
        return out;
    });
}

}  // namespace liprobe::x1
