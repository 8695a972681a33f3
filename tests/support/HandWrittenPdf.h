#pragma once
// Minimal PDFs written by hand for tests (the PDF reader's, the CLI's, the window's), so that each
// page's content stream is known exactly. Header-only.
#include <cstdio>
#include <string>
#include <vector>

namespace strata::testsupport {

// A minimal PDF written by hand: Helvetica with WinAnsiEncoding (so byte 0xE9 is 'é'), one
// content stream per page with one line of text per entry, and no content stream at all for a
// page given no lines (what a scan without OCR looks like to a text extractor).
inline std::string escapePdfString(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '(' || c == ')' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

// streams[i] is page i's content stream; an empty one means the page has no /Contents.
inline std::string makePdfFromStreams(const std::vector<std::string>& pages) {
    std::vector<std::string> objects;  // objects[i] is object i + 1
    const int pageCount = int(pages.size());
    // 1 catalog, 2 page tree, 3 font, 4 info, then per page: page, then content when it has text.
    std::vector<int> pageIds;
    int next = 5;
    std::vector<int> contentIds;
    for (const auto& stream : pages) {
        pageIds.push_back(next++);
        contentIds.push_back(stream.empty() ? 0 : next++);
    }
    objects.resize(size_t(next - 1));
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>";
    std::string kids;
    for (int id : pageIds)
        kids += std::to_string(id) + " 0 R ";
    objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pageCount) + " >>";
    objects[2] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
    // Author "Jürgen" as UTF-16BE with a byte-order mark, the way PDF text strings carry Unicode.
    objects[3] = "<< /Title (Strata test document) /Author <FEFF004A00FC007200670065006E> "
                 "/Subject (Page text) /Creator (test_pdf_document) /Producer (hand-written) >>";
    for (size_t p = 0; p < pages.size(); ++p) {
        std::string page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                           "/Resources << /Font << /F1 3 0 R >> >>";
        if (contentIds[p] != 0)
            page += " /Contents " + std::to_string(contentIds[p]) + " 0 R";
        page += " >>";
        objects[size_t(pageIds[p] - 1)] = page;
        if (contentIds[p] != 0) {
            const std::string& stream = pages[p];
            objects[size_t(contentIds[p] - 1)] =
                "<< /Length " + std::to_string(stream.size()) + " >>\nstream\n" + stream + "endstream";
        }
    }
    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t offset : offsets) {
        char entry[32];
        std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
        pdf += entry;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
           " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

// One line of text per entry, top down from the top left margin.
inline std::string makePdf(const std::vector<std::vector<std::string>>& pages) {
    std::vector<std::string> streams;
    for (const auto& lines : pages) {
        std::string stream;
        if (!lines.empty()) {
            stream = "BT /F1 12 Tf 72 720 Td 16 TL\n";
            for (const auto& line : lines)
                stream += "(" + escapePdfString(line) + ") Tj T*\n";
            stream += "ET\n";
        }
        streams.push_back(stream);
    }
    return makePdfFromStreams(streams);
}

}  // namespace strata::testsupport
