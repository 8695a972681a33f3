#include "WindowOptions.h"

namespace strata::app {

QString windowDescription() {
    return QStringLiteral(
        "Local long-context analysis with large language models. Drop documents (PDFs, text and logs, images, "
        "recordings) on the window, ask questions about them, and continue saved sessions. SIGTERM, SIGINT and SIGHUP "
        "close the window with a running job left for later: it is saved and can be resumed.");
}

QString windowFilesHelp() { return QStringLiteral("Documents to put in the tray."); }

}  // namespace strata::app
