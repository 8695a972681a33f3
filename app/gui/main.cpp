// strata: the desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QPlainTextEdit>
#include <QPixmap>
#include <QTimer>

#include <cstdio>

#include "DocumentTray.h"
#include "EngineController.h"
#include "MainWindow.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Strata"));
    QApplication::setApplicationName(QStringLiteral("Strata"));
    QApplication::setApplicationVersion(QStringLiteral(STRATA_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("strata"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Local long-context analysis with large language models."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("Documents to put in the tray."),
                                 QStringLiteral("[files...]"));
    QCommandLineOption model(QStringLiteral("model"), QStringLiteral("The model to load (a GGUF file or a folder)."),
                             QStringLiteral("PATH"));
    QCommandLineOption ask(QStringLiteral("ask"), QStringLiteral("Ask this question once the model and the files are ready."),
                           QStringLiteral("QUESTION"));
    // For documentation and visual checks: render the window into a PNG, then exit — once shown,
    // or once the asked question's answer has streamed this many tokens.
    QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save the window to FILE and exit."),
                                  QStringLiteral("FILE"));
    QCommandLineOption screenshotAfter(QStringLiteral("screenshot-after-tokens"),
                                       QStringLiteral("Take the screenshot once the answer has N tokens."),
                                       QStringLiteral("N"));
    screenshot.setFlags(QCommandLineOption::HiddenFromHelp);
    screenshotAfter.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({model, ask, screenshot, screenshotAfter});
    parser.process(app);

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
