// strata: the desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QPlainTextEdit>
#include <QPixmap>
#include <QTimer>

#include <cstdio>
#include <string_view>

#include "DocumentTray.h"
#include "EngineController.h"
#include "MainWindow.h"
#include "WindowOptions.h"

namespace {

void describeApplication() {
    QCoreApplication::setOrganizationName(QStringLiteral("Strata"));
    QCoreApplication::setApplicationName(QStringLiteral("Strata"));
    QCoreApplication::setApplicationVersion(QStringLiteral(STRATA_VERSION));
}

void addOptions(QCommandLineParser& parser, const strata::app::WindowOptions& options) {
    parser.setApplicationDescription(strata::app::windowDescription());
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("files"), strata::app::windowFilesHelp(), QStringLiteral("[files...]"));
    parser.addOptions(options.all());
}

// --help and --version are answered without a display (over ssh, in a package's tests).
bool asksForHelpOrVersion(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--help" || a == "-h" || a == "--help-all" || a == "--version" || a == "-v") return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    const strata::app::WindowOptions options;
    if (asksForHelpOrVersion(argc, argv)) {
        QCoreApplication core(argc, argv);
        describeApplication();
        QCommandLineParser parser;
        addOptions(parser, options);
        parser.process(core);  // prints and exits
        return 0;
    }
    QApplication app(argc, argv);
    describeApplication();
    QGuiApplication::setDesktopFileName(QStringLiteral("strata"));

    QCommandLineParser parser;
    addOptions(parser, options);
    parser.process(app);
    const QCommandLineOption &model = options.model, &ask = options.ask, &screenshot = options.screenshot,
                             &screenshotAfter = options.screenshotAfterTokens;

    QApplication::setWindowIcon(strata::ui::MainWindow::appIcon());
    strata::ui::MainWindow window;
    window.show();
    window.closeOnStopSignals();
    auto* tray = window.findChild<strata::ui::DocumentTray*>();
    if (!parser.positionalArguments().isEmpty()) tray->addFiles(parser.positionalArguments());
    if (parser.isSet(model)) window.loadModel(parser.value(model));
    else window.loadInitialModel();

    const auto grab = [&window](const QString& path) {
        if (!window.grab().save(path)) {
            std::fprintf(stderr, "strata: could not write the screenshot to %s\n", qPrintable(path));
            QCoreApplication::exit(1);
            return;
        }
        QCoreApplication::exit(0);
    };
    if (parser.isSet(ask)) {
        // Asked once the model is loaded and the tray has read its files.
        auto* poll = new QTimer(&window);
        QObject::connect(poll, &QTimer::timeout, &window, [&window, tray, poll, question = parser.value(ask)] {
            if (!window.controller()->modelLoaded() || tray->busy()) return;
            poll->stop();
            window.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(question);
            window.submitQuestion();
        });
        poll->start(200);
    }
    if (parser.isSet(screenshot)) {
        const QString path = parser.value(screenshot);
        if (parser.isSet(screenshotAfter)) {
            const qint64 wanted = parser.value(screenshotAfter).toLongLong();
            QObject::connect(window.controller(), &strata::app::EngineController::progressed, &window,
                             [grab, path, wanted, taken = false](const strata::app::JobProgress& p) mutable {
                                 // A moment later, so that the streamed text is drawn.
                                 if (taken || p.prefill || p.done < wanted) return;
                                 taken = true;
                                 QTimer::singleShot(300, [grab, path] { grab(path); });
                             });
        } else {
            // Give the window system a moment to map and lay out the window before grabbing it.
            QTimer::singleShot(500, &window, [grab, path] { grab(path); });
        }
    }
    return QApplication::exec();
}
