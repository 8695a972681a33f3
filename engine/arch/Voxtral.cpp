// Voxtral (VoxtralForConditionalGeneration): a Llama decoder, described by text_config, behind
// the Whisper-style audio tower and its projector. Its turns are built by its Tekken tokenizer's
// own instruction format, not by a chat template.
#include "arch/ModelFamily.h"

namespace strata {

const ModelWrapper& voxtralWrapper() {
    static const ModelWrapper wrapper{
        "voxtral", "llama",
        {"text_config", "audio_config", "audio_token_id", "projector_hidden_act", "hidden_size", "tie_word_embeddings",
         "bos_token_id", "eos_token_id"},
        {"audio_tower.", "multi_modal_projector."},
        true};
    return wrapper;
}

}  // namespace strata
