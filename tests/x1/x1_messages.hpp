// X1 request documents for the tests (the shape an ADMF sends, TS 103 221-1 as in the README).
#pragma once

#include <string>
#include <vector>

namespace liprobe::test {

inline const char* kXidA = "0f8fad5b-d9cb-469f-a165-70867728950e";
inline const char* kXidB = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
inline const char* kDid1 = "11111111-2222-4333-8444-555555555555";
inline const char* kDid2 = "66666666-7777-4888-9999-aaaaaaaaaaaa";

// One X1Request holding the given x1RequestMessage bodies (already wrapped by message()).
inline std::string x1_request(const std::vector<std::string>& messages) {
    std::string out =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<X1Request xmlns=\"http://uri.etsi.org/03221/X1/2017/10\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xmlns:etsi280=\"http://uri.etsi.org/03280/common/2017/07\" "
        "xmlns:liprobe=\"urn:liprobe:x1:1\">\n";
    for (const auto& m : messages) out += m;
    return out + "</X1Request>\n";
}

// An x1RequestMessage of xsi:type TYPE with the common header and BODY.
inline std::string message(const std::string& type, const std::string& body,
                           const std::string& transaction = "a7f3c4d2-1b2c-4d3e-8f90-123456789abc",
                           const std::string& ne = "probe-1") {
    return "  <x1RequestMessage xsi:type=\"" + type +
           "\">\n"
           "    <admfIdentifier>admf-1</admfIdentifier>\n"
           "    <neIdentifier>" +
           ne +
           "</neIdentifier>\n"
           "    <messageTimestamp>2026-12-05T23:00:00.000000Z</messageTimestamp>\n"
           "    <version>v1.13.1</version>\n"
           "    <x1TransactionId>" +
           transaction + "</x1TransactionId>\n" + body + "  </x1RequestMessage>\n";
}

inline std::string target(const std::string& type, const std::string& value) {
    if (type == "mcpttId" || type == "mcpttGroupId")
        return "<targetIdentifier><targetIdentifierExtension><liprobe:" + type + ">" + value +
               "</liprobe:" + type + "></targetIdentifierExtension></targetIdentifier>";
    return "<targetIdentifier><" + type + ">" + value + "</" + type + "></targetIdentifier>";
}

inline std::string task_details(const std::string& xid, const std::vector<std::string>& targets,
                                const std::string& did, const std::string& liid,
                                const std::string& delivery = "X2andX3") {
    std::string t;
    for (const auto& x : targets) t += x;
    return "<taskDetails><xId>" + xid + "</xId><targetIdentifiers>" + t +
           "</targetIdentifiers><deliveryType>" + delivery + "</deliveryType><listOfDIDs><dId>" +
           did + "</dId></listOfDIDs><taskDetailsExtensions><liprobe:liid>" + liid +
           "</liprobe:liid></taskDetailsExtensions></taskDetails>";
}

inline std::string destination_details(const std::string& did, const std::string& address, int port,
                                       const std::string& format = "x3") {
    const bool v6 = address.find(':') != std::string::npos;
    const std::string tag = v6 ? "etsi280:IPv6Address" : "etsi280:IPv4Address";
    return "<destinationDetails><dId>" + did +
           "</dId><friendlyName>LEMF 1</friendlyName><deliveryType>X2andX3</deliveryType>"
           "<deliveryAddress><ipAddressAndPort><address><" +
           tag + ">" + address + "</" + tag + "></address><port><etsi280:TCPPort>" +
           std::to_string(port) +
           "</etsi280:TCPPort></port></ipAddressAndPort></deliveryAddress>"
           "<destinationDetailsExtensions><liprobe:format>" +
           format + "</liprobe:format></destinationDetailsExtensions></destinationDetails>";
}

}  // namespace liprobe::test
