#include "audio_factory.h"

// ms2 exports its filter descriptors; these are the ones a media server can
// use (codecs, RTP, mixing, files, tones, DTMF, PLC, resampling), not the
// sound-card, camera and video ones. (Those the ms2 headers declare are
// declared there, the others here.)
extern "C" {
extern MSFilterDesc ms_aal2_g726_16_dec_desc, ms_aal2_g726_16_enc_desc, ms_aal2_g726_24_dec_desc,
    ms_aal2_g726_24_enc_desc, ms_aal2_g726_32_dec_desc, ms_aal2_g726_32_enc_desc, ms_aal2_g726_40_dec_desc,
    ms_aal2_g726_40_enc_desc, ms_alaw_dec_desc, ms_alaw_enc_desc, ms_audio_flow_control_desc, ms_audio_mixer_desc,
    ms_bcg729_dec_desc, ms_bcg729_enc_desc, ms_channel_adapter_desc, ms_equalizer_desc, ms_file_player_desc,
    ms_g722_dec_desc, ms_g722_enc_desc, ms_g726_16_dec_desc, ms_g726_16_enc_desc, ms_g726_24_dec_desc,
    ms_g726_24_enc_desc, ms_g726_32_dec_desc, ms_g726_32_enc_desc, ms_g726_40_dec_desc, ms_g726_40_enc_desc,
    ms_genericplc_desc, ms_gsm_dec_desc, ms_gsm_enc_desc, ms_itc_sink_desc, ms_itc_source_desc, ms_join_desc,
    ms_l16_dec_desc, ms_l16_enc_desc, ms_opus_dec_desc, ms_opus_enc_desc, ms_resample_desc, ms_speex_dec_desc,
    ms_speex_ec_desc, ms_speex_enc_desc, ms_tee_desc, ms_tone_detector_desc, ms_udp_send_desc, ms_ulaw_dec_desc,
    ms_ulaw_enc_desc, ms_vad_dtx_desc, ms_void_sink_desc, ms_void_source_desc;
}

namespace rms {

void RegisterAudioFilters(MSFactory* f) {
  static MSFilterDesc* const kDescs[] = {
      &ms_aal2_g726_16_dec_desc,
      &ms_aal2_g726_16_enc_desc,
      &ms_aal2_g726_24_dec_desc,
      &ms_aal2_g726_24_enc_desc,
      &ms_aal2_g726_32_dec_desc,
      &ms_aal2_g726_32_enc_desc,
      &ms_aal2_g726_40_dec_desc,
      &ms_aal2_g726_40_enc_desc,
      &ms_alaw_dec_desc,
      &ms_alaw_enc_desc,
      &ms_audio_flow_control_desc,
      &ms_audio_mixer_desc,
      &ms_bcg729_dec_desc,
      &ms_bcg729_enc_desc,
      &ms_channel_adapter_desc,
      &ms_dtmf_gen_desc,
      &ms_equalizer_desc,
      &ms_file_player_desc,
      &ms_file_rec_desc,
      &ms_g722_dec_desc,
      &ms_g722_enc_desc,
      &ms_g726_16_dec_desc,
      &ms_g726_16_enc_desc,
      &ms_g726_24_dec_desc,
      &ms_g726_24_enc_desc,
      &ms_g726_32_dec_desc,
      &ms_g726_32_enc_desc,
      &ms_g726_40_dec_desc,
      &ms_g726_40_enc_desc,
      &ms_genericplc_desc,
      &ms_gsm_dec_desc,
      &ms_gsm_enc_desc,
      &ms_itc_sink_desc,
      &ms_itc_source_desc,
      &ms_join_desc,
      &ms_l16_dec_desc,
      &ms_l16_enc_desc,
      &ms_opus_dec_desc,
      &ms_opus_enc_desc,
      &ms_resample_desc,
      &ms_rtp_recv_desc,
      &ms_rtp_send_desc,
      &ms_speex_dec_desc,
      &ms_speex_ec_desc,
      &ms_speex_enc_desc,
      &ms_tee_desc,
      &ms_tone_detector_desc,
      &ms_udp_send_desc,
      &ms_ulaw_dec_desc,
      &ms_ulaw_enc_desc,
      &ms_vad_dtx_desc,
      &ms_void_sink_desc,
      &ms_void_source_desc,
      &ms_volume_desc,
  };
  for (MSFilterDesc* d : kDescs) ms_factory_register_filter(f, d);
}

}  // namespace rms
