// X1 over HTTPS (design.md 3.4): POST /X1/NE on the control listener, role `x1`, an X1Request
// document in the body (Content-Type application/xml), the X1Response in the reply.
#pragma once

namespace liprobe::control {
class ControlServer;
}

namespace liprobe::x1 {

class Service;

// Call before the server starts; the service must outlive it.
void register_routes(Service& service, control::ControlServer& server);

}  // namespace liprobe::x1
