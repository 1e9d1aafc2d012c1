// UER-py's LstmSubencoder.
#include "plugins/layers/rnn_subencoder.h"

namespace uer::subencoders {
namespace {

class LstmSubencoderFactory : public RnnSubencoderFactory<torch::nn::LSTM, torch::nn::LSTMOptions> {
 public:
  LstmSubencoderFactory() : RnnSubencoderFactory("lstm", "LSTM over the characters, averaged") {}
};

}  // namespace
}  // namespace uer::subencoders

UER_REGISTER_FACTORY(uer::subencoders::LstmSubencoderFactory);
